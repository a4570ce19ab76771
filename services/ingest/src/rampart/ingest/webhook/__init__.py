"""The webhook SIEMs post to: its route, reading its body, and forgetting old webhook ids."""
