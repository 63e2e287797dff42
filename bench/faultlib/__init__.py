"""The parts of the fault harness (bench/faults.py, docs/reliability.md)."""
