"""Storage: everything on disk that makes an index, each file with one owner.

::

    index/                       layout.py: names, manifest, lock, generations
      manifest.json              schema version, model, files and their hashes, and
                                 which generation below is current
      lock                       held by the one process writing
      gen-<id>/passages.sqlite   database.py: documents, passages (offsets, sentences),
                                 statements, FTS5 keyword indexes, name keys
      gen-<id>/vectors.faiss     vectors.py: the search structure (flat, or IVF + 8-bit
      gen-<id>/vectors.npy       codes above 50,000), the full-precision vectors, and
      gen-<id>/sentences.npy     one float16 vector per sentence

- ``layout``   owns the directory: file names, ``manifest.json`` (read, written with one
  ``os.replace``), the writer's lock, the generation folders (named, renamed into place,
  removed) and what a full disk means. It also compares the manifest with the files on
  disk (``status``, ``verify``, the chat's update on start).
- ``database`` owns ``passages.sqlite``: the schema, the one writer of it, the reads,
  and search filters turned into SQL. No other module writes SQL.
- ``vectors`` owns the vector files: writing them, opening them, dense search.
- ``writer`` runs ``build``, ``update``, ``add`` and ``remove``: reads and splits the
  sources, embeds what is new, keeps what did not change from the current generation
  (read back through the store, not with SQL of its own), and hands the rows to
  ``database`` and the arrays to ``vectors``.
- ``local`` is the read-only front over ``database`` and ``vectors`` for one
  generation: :class:`~.local.StoredIndex`, the local implementation of ``ReadStore``.
- ``backend`` is where the backend is chosen, once, from the manifest:
  ``open_reader(index_dir, manifest, encoder=...)`` and ``verify_store``.
- ``reads`` holds the batched calls' types and their default implementation over a
  store's one-purpose methods; ``terms`` (metadata terms, FTS5's tokenizer and BM25)
  and ``source_filter`` (what ``--source`` lets through) are written once for both
  stores.

An index whose manifest names a Milvus store (``index build --store milvus:…``) has
no generations: the writer writes its rows to Milvus source by source, and the
manifest here is still the index's record of its roots and files. ``milvus/``:
``connection`` (the store URI, the collections, what a write records), ``records``
(rows as the project's types), ``reader`` (:class:`~.milvus.reader.MilvusReader`,
``ReadStore`` over the collections, with ``cache``: rows fetched once), and the
writer.

A writer builds a whole new generation beside the current one and then replaces
``manifest.json``: readers see the old index or the new one, never half of each, and a
crash leaves the previous index as it was (crash points: ``layout.fault_point``).

The read protocol (:class:`~.base.ReadStore`)
---------------------------------------------

What retrieval (``query/retrieval.py``) and answering (``query/extractive.py`` and its
parts, ``query/generative.py``) ask of a store; a second backend (Milvus) implements
this and nothing else. Passage ids are integers unique within one version of the
index; a "vector row" is the dense side's id of a citable passage (the local store: the
row in ``vectors.*``).

- batched (what the query path calls, a few times a question):
  ``term_statistics(terms, wants_variants)`` (each term's forms and passage count),
  ``search(query, match, k, restriction)`` (both searches with their passages: a
  :class:`~.reads.Found`), ``read(Reads(...))`` (any of the reads below for many ids
  at once: a :class:`~.reads.ReadResult`);

- counts: ``manifest`` (the directory's: ``documents``, ``passages``, ``vectors``,
  ``model``, ...), ``citable_passage_count()``, ``common_term_limit`` (where counting
  a term's passages stops), ``store_facts()`` (a Milvus store's name and recorded
  counts; nothing for the local store);
- restriction: ``restriction(search_filter)`` resolves a
  :class:`~assistant.filters.SearchFilter` once; the result is passed to both
  searches, which then only visit allowed passages (``.vector_rows``: the allowed rows,
  empty when no document passes). ``allowed_passages(ids, search_filter)`` checks a few
  passages without resolving the whole filter;
- dense search: ``dense_search(query, k, restriction)`` gives (vector row, cosine),
  best first; ``dense_scores(query, ids, known)`` the exact (passage cosine, best
  sentence cosine) of given passages (``known``: cosines by passage id);
  ``sentence_cosines(query, ids)`` each sentence's cosine;
- keyword search: ``keyword_search(match, k, restriction)`` gives (passage id, BM25 >
  0), best first, for an FTS5 ``match`` expression over normalised text;
  ``document_bm25(match, doc_ids)``, ``passage_frequency(forms)``,
  ``passages_containing(ids, forms)``, ``name_variants(term)``;
- passages by id: ``passages(ids)``, ``passages_for_vector_rows(rows)`` (dicts by id
  or row), ``document(doc_id)``, ``documents()``, ``document_ids(name)``,
  ``document_text(doc_id)``,
  ``document_passages(doc_id)`` (in reading order, head lines and boilerplate too);
- statements: ``statements(ids)`` (passage id -> statements in reading order),
  ``passages_quoting(wanted, limit)`` (passages with a statement by a
  :class:`~assistant.ingest.speakers.SpeakerQuery`; the query decides who matches);
- metadata terms: ``metadata_terms()`` (doc id -> normalised terms of title, outlet,
  byline and date), ``metadata_vocabulary()``;
- ``index sources``: ``publication_dates()``, ``passage_counts()``;
- ``close()``.

Errors are the typed ones of :mod:`assistant.errors` (``DatabaseCorruptError``,
``VectorsCorruptError``, ``IndexCorruptError``, ...). Importing this package loads
neither SQLite nor faiss; each module imports what it needs.
"""
