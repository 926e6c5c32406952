"""numba kernels: plain ndarrays in and out, no Tensor, no autograd.

Each kernel loops once over contiguous 1-D memory and writes into an output
the caller allocated; the wrappers in pointwise.py take arrays of any shape.
"""
