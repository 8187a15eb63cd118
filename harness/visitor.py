"""A bare HTTP visitor for an app in another process, with every header as sent.

urllib's cookie jar won't send Secure cookies over the plain HTTP of a local
gunicorn, and hides the cookie flags this project must check. This keeps
cookies by hand, can say it came through an HTTPS proxy, and posts forms with
the page's CSRF token.
"""

import http.client
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def cookies(self):
        """Every Set-Cookie of this response, flags included."""
        jar = SimpleCookie()
        for header in self.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        return jar


class Visitor:
    def __init__(self, base_url, https=False, timeout=30.0):
        url = urlsplit(base_url)
        self.host, self.port = url.hostname, url.port
        self.https = https
        self.timeout = timeout
        self.cookies = {}

    @property
    def origin(self):
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    def request(self, method, path, form=None, headers=()):
        sent = dict(headers)
        if self.https:
            # What Heroku's router says for a request that came in over TLS.
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent.setdefault("Origin", self.origin)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body, sent)
            raw = connection.getresponse()
            response = Response(raw.status, raw.headers, raw.read().decode())
        finally:
            connection.close()
        for name, morsel in response.cookies.items():
            if morsel["max-age"] == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value
        return response

    def get(self, path="/"):
        return self.request("GET", path)

    def post(self, path, fields, page="/", headers=()):
        """POST fields with the CSRF token of `page`, as a browser's form would."""
        token = TOKEN.search(self.get(page).text).group(1)
        return self.request("POST", path, {**fields, "csrfmiddlewaretoken": token}, headers)
