"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.total = total;
function total(items) {
    return items.reduce((sum, item) => sum + item.product.price * item.quantity, 0);
}
//# sourceMappingURL=cart.js.map