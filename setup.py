"""Build nmtool, compiling the Cython kernel in nmtool/kernel/ when possible.

The package works without them: nmtool.kernel falls back to the
pure-Python twin, so a failed compile is reported and skipped rather
than failing the install (the approach msgpack-python takes).
"""
import os
import sys

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers, ...
            self._skip(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    @staticmethod
    def _skip(exc):
        sys.stderr.write(
            "WARNING: nmtool's Cython kernel was not built (%s); "
            "the pure-Python kernel will be used.\n" % exc)


def extensions():
    if os.environ.get("NMTOOL_NO_EXT"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        sys.stderr.write("WARNING: Cython is not installed; "
                         "building nmtool without its C kernel.\n")
        return []
    from setuptools import Extension
    return cythonize(
        [Extension("nmtool.kernel._ckernel", ["nmtool/kernel/_ckernel.pyx"])],
        compiler_directives={"language_level": "3"},
        quiet=True)


setup(
    # Every package under nmtool/ is found, so a new wing ships without
    # anyone listing it; the SQL lives at the top of the repository for
    # DBAs to read and is shipped inside the package as nmtool.sql.
    packages=find_packages(include=["nmtool", "nmtool.*"]) + ["nmtool.sql"],
    package_dir={"nmtool.sql": "sql"},
    package_data={"nmtool": ["schemas/*.json"],
                  "nmtool.maintenance": ["*.json"],
                  "nmtool.kernel": ["*.pyx"],
                  "nmtool.sql": ["*.sql", "*/*.sql"]},
    # Cython's generated C is a build product, not part of the package.
    exclude_package_data={"nmtool.kernel": ["*.c"]},
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    zip_safe=False,
)
