"""The baseline to beat: the plain LangChain RAG quickstart, run on the same corpus and questions.

RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200), an in-memory Chroma
vector store, and the bundled all-MiniLM-L6-v2 embeddings, queried with similarity_search(k=4):
exactly what the tutorial does, with nothing tuned for Japanese.
"""

from __future__ import annotations

from pathlib import Path


class QuickstartRecipe:
    name = "recipe"

    def __init__(self, corpus_dir: Path) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from bot.embedding import minilm_path

        docs = [
            Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.as_posix()})
            for p in sorted(corpus_dir.rglob("*"))
            if p.suffix in {".txt", ".md"} and not p.name.endswith(".meta.yaml")
        ]
        splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
        embeddings = HuggingFaceEmbeddings(model_name=minilm_path(), model_kwargs={"device": "cpu"})
        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        self.store = Chroma(collection_name="quickstart-recipe", embedding_function=embeddings, client=client)
        batch = client.get_max_batch_size()  # Chroma refuses larger adds (5,461 here): the 100x corpus has more
        for start in range(0, len(splits), batch):
            self.store.add_documents(splits[start : start + batch])
        self.size = len(splits)

    def search(self, question: str, k: int = 4) -> list[str]:
        return [d.page_content for d in self.store.similarity_search(question, k=k)]

    def search_with_sources(self, question: str, k: int = 4) -> list[tuple[str, str]]:
        return [(d.page_content, d.metadata["source"]) for d in self.store.similarity_search(question, k=k)]
