"""Log in on keg-auth's own app (keg_auth_ta), as a browser does.

    python login.py <sqlalchemy-url> <email> <password>

Prints `ok` and exits 0 when keg-auth logged the user in (a redirect to the
after-login page and a session that opens a page behind @requires_user),
prints `refused: ...` and exits 1 otherwise.
"""

import re
import sys

import ka_app


def main(url, email, password):
    app = ka_app.make(url)
    client = app.test_client()
    page = client.get('/login').get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    data = {'login_id': email, 'password': password}
    if csrf:
        data['csrf_token'] = csrf.group(1)
    resp = client.post('/login', data=data)
    if resp.status_code != 302:
        body = resp.get_data(as_text=True)
        flashes = re.findall(r'class="alert[^"]*"[^>]*>(.*?)<', body, re.S)
        print('refused:', resp.status_code, [f.strip() for f in flashes])
        return 1
    secret = client.get('/secret1')
    if secret.status_code != 200:
        print('refused: logged in, but /secret1 answered', secret.status_code)
        return 1
    print('ok')
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:4]))
