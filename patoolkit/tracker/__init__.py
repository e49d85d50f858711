"""The tracker workbook itself: reading it, typing its cells, editing it, creating one.

- read: load_tracker and the Tracker it gives (typed frames, settings, problems);
- cells: raw cell values into typed columns, every problem collected once;
- edit: the careful writer (changed cells only, a lock, a backup, conflicts named);
- package: the .xlsx zip edited part by part (what edit writes with);
- extents: a sheet's used range found before it is read (a stray far cell);
- create: a whole new tracker workbook (blank or synthetic);
- sources: the rows of the other files people hand patoolkit (claims, imports);
- textsource: CSV and text files decoded, their delimiter found.
"""

from .read import Tracker, load_tracker

__all__ = ["Tracker", "load_tracker"]
