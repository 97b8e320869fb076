"""The graph ``langgraph dev`` serves (see langgraph.json). The server brings its own checkpointer."""

from proctor.graphs.supervisor import build_graph

graph = build_graph(checkpointer=False)
