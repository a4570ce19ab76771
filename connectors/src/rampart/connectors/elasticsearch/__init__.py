"""The ``elasticsearch`` connector: searches with ``_search``, paged by ``search_after``."""

from rampart.connectors.elasticsearch.connector import (
    ElasticsearchConfig,
    ElasticsearchConnector,
)

__all__ = ["ElasticsearchConfig", "ElasticsearchConnector"]
