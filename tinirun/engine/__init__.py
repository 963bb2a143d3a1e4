"""The Docker engine: a thin asyncio adapter (`docker`) and container settings as data
(`container`). Nothing here knows what a run or a function is."""
