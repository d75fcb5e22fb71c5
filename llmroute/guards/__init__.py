"""Guards at the edges of a call and a config: closable streams, stream deadlines, config checks."""
