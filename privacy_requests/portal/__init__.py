"""The requester portal: a single-use emailed link opens a short session on one request.

Pages under /privacy/<org-slug>/status/ and /privacy/<org-slug>/portal/ (privacy_intake
namespace); docs/privacy-portal.md.
"""
