"""The arithmetic: one formula per quantity (formulas), the trace of a network's IR into
per-layer records (trace, blocks for residual/concat/repeat/scale blocks) and receptive
fields (receptive)."""
