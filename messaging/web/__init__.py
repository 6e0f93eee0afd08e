"""The inbox pages: server-rendered Django templates over the same selectors and services as the API."""
