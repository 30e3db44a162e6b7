"""PostgreSQL plumbing: URLs (masking, driver forms), throwaway servers, client binaries.

Nothing here knows about findings; every domain package that needs a server or a URL comes here.
"""
