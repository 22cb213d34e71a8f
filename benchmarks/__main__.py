"""``python -m benchmarks`` (``make bench``): runs :mod:`benchmarks.compare`."""

from benchmarks.compare import main

if __name__ == "__main__":
    main()
