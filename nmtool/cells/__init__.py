"""Cells: the API database's cell and host mappings, host discovery,
instance mappings, finding an instance's cell, transport URLs."""
