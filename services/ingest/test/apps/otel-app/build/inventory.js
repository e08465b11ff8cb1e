"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.utilisation = utilisation;
function utilisation(warehouses, id, reserved) {
    const warehouse = warehouses.get(id);
    return reserved / warehouse.capacity.units;
}
//# sourceMappingURL=inventory.js.map