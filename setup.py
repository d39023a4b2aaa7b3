"""Builds the Cython kernels in kernels/native/ (everything else is in pyproject.toml)."""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# -ffp-contract=off: no fused multiply-add, so native floating-point results match Python's bit for bit.
COMPILE = ["-O3", "-fopenmp", "-ffp-contract=off"]
LINK = ["-fopenmp"]

NATIVE = ["fib", "primes", "montecarlo", "mandelbrot", "heat"]

extensions = [
    Extension(
        f"kernels.native.{name}",
        [f"kernels/native/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=COMPILE,
        extra_link_args=LINK,
    )
    for name in NATIVE
]

setup(ext_modules=cythonize(extensions, language_level=3, compiler_directives={"boundscheck": False, "wraparound": False}))
