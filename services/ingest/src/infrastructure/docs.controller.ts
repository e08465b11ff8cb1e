import { Controller, Get, Header, Headers, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { stringify } from 'yaml';
import { openApiDocument } from './openapi';

/** Serves the OpenAPI document of ingest's API: `/docs` (JSON, or YAML when asked), `/docs/openapi.json`, `/docs/openapi.yaml`. */
@Controller('docs')
export class DocsController {
  private readonly document = openApiDocument();

  @Get()
  docs(@Headers('accept') accept: string | undefined, @Res() res: ServerResponse): void {
    const yaml = accept !== undefined && /yaml/i.test(accept);
    const body = yaml ? stringify(this.document) : JSON.stringify(this.document);
    res.writeHead(200, { 'content-type': yaml ? 'application/yaml; charset=utf-8' : 'application/json; charset=utf-8' });
    res.end(body);
  }

  @Get('openapi.json')
  json(): Record<string, unknown> {
    return this.document;
  }

  @Get('openapi.yaml')
  @Header('Content-Type', 'application/yaml')
  yaml(): string {
    return stringify(this.document);
  }
}
