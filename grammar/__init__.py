"""The symconv layer-language grammar, shipped as package data (symconv.grammar)."""
