"""Depth: how near residual blocks are to the identity (Hardt & Ma 2017; Bartlett, Evans & Long 2018)."""
