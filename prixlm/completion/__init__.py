"""KB completion for a thin language.

`knowledge` reads a Prix-LM dataset into IRI-keyed facts per language and the links between
them, and finds the (subject, relation) pairs that other languages hold and the target
lacks; `propose` asks the model for the target-language objects of those pairs (constrained
link prediction) and attaches the evidence; `output` writes N-Triples and a TSV; `measure`
scores proposals against held-out facts. The command line is `prixlm.complete`.
"""
