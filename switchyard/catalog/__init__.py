from switchyard.catalog.catalog import Catalog, CatalogModel, Offering, load_catalog
from switchyard.catalog.pricing import Pricing, format_usd

__all__ = ['Catalog', 'CatalogModel', 'Offering', 'Pricing', 'format_usd', 'load_catalog']
