"""Wufei (无废): solid and hazardous waste supervision for zero-waste cities."""

__version__ = "0.1.0"
