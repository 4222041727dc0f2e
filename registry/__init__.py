"""The transfer registry: sub-processors, dated transfer law and computed compliance."""

__version__ = "1.0.0"
