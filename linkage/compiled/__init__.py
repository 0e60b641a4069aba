"""The encoders compiled with numba: fast per record, but importing them imports numba.

Loading numba and the cached machine code takes about half a second, so only inputs large
enough to repay it use these kernels (`linkage.backend`); `linkage.vectorized` encodes the
others with numpy. Both give the same encodings, bit for bit.
"""
