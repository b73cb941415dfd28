"""Pictures: image tiles, matplotlib figures and charts, animations, probes, the gallery of a model."""
