"""The refund-window clerk's parts: lists, the refund and order details, dialogs, the reconciliation."""
