"""Local fakes of vendor products, each following the vendor's published API reference."""
