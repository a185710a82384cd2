"""Helpers shared by the test modules; each module here holds one kind of thing.

Test modules import helpers from here (fixtures come from conftest.py), never from each other.
"""
