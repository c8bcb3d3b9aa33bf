"""keg-auth's own test app (keg_auth_ta, shipped with keg-auth) on a given database.

`make(url)` returns the app; `application` (for gunicorn, `ka_app:application`)
is the app on $KEG_AUTH_PEER_DB_URL with the secret key $KEG_AUTH_PEER_SECRET.
$KEG_AUTH_PEER_CSRF=0 and $KEG_AUTH_PEER_ATTEMPTS=0 turn off CSRF and attempt
limiting (benches/peer.sh).
"""

import os

from keg_auth_ta.app import KegAuthTestApp


def make(url, secret_key='keg-auth peer harness (tests only)'):
    return KegAuthTestApp().init(config={
        'SQLALCHEMY_DATABASE_URI': url,
        'SECRET_KEY': secret_key,
        # Flask-Mail 0.10 on Flask 3 reads MAIL_DEBUG as an int, which keg_auth_ta leaves unset.
        'MAIL_DEBUG': 0,
        'MAIL_SUPPRESS_SEND': True,
        # benches/peer.sh posts the login form without Flask-WTF's CSRF token, and
        # turns attempt limiting off on both sides (every request comes from 127.0.0.1).
        'WTF_CSRF_ENABLED': os.environ.get('KEG_AUTH_PEER_CSRF', '1') == '1',
        'KEGAUTH_ATTEMPT_LIMIT_ENABLED': os.environ.get('KEG_AUTH_PEER_ATTEMPTS', '1') == '1',
    })


if os.environ.get('KEG_AUTH_PEER_DB_URL'):
    application = make(
        os.environ['KEG_AUTH_PEER_DB_URL'],
        os.environ.get('KEG_AUTH_PEER_SECRET', 'keg-auth peer harness (tests only)'),
    )
