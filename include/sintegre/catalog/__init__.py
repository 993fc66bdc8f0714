"""Catalog: the products ONS publishes (products.yaml + products.d/), parse specs, freshness."""
