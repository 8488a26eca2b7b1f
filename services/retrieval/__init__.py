"""The retrieval service: collections, ingestion (chunk + embed + upsert) and search."""
