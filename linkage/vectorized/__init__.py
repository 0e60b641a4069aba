"""The encoders in numpy: all records at once, one array operation per step.

They encode a few times slower per record than `linkage.compiled`, but need nothing
loaded first, so small inputs finish before numba would have started (`linkage.backend`).
Both give the same encodings, bit for bit.
"""
