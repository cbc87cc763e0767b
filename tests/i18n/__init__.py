"""Tests of the translation catalogues and of the pages in each interface language."""
