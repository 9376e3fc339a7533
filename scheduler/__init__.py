"""Scheduling: cost model, policies, trace-replay simulator, vLLM plug-in."""
