"""The from-scratch kernels the course teaches, checked against PyTorch."""
