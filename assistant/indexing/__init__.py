"""Writing an index, stage by stage: :mod:`.plan` (what a write is asked and reports),
:mod:`.gather` with :mod:`.read` and :mod:`.web` (what is reused, read and split),
:mod:`.pipeline` (ids, boilerplate, statements, embedding, the batch handed to the
store writer) and :mod:`.writer` (:class:`IndexWriter`, the one write API)."""
