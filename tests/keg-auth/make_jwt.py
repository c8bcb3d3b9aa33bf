"""A JWT from keg-auth's JwtRequestLoader (flask-jwt-extended) for a user.

    KEG_AUTH_PEER_SECRET=... python make_jwt.py <sqlalchemy-url> <email>

Prints the token, signed with the secret key the served app uses
(benches/peer.sh).
"""

import os
import sys

import ka_app


def main(url, email):
    app = ka_app.make(url, os.environ['KEG_AUTH_PEER_SECRET'])
    from keg_auth_ta.model import entities as ents

    with app.app_context():
        user = ents.User.query.filter_by(email=email).one()
        print(app.auth_manager.get_request_loader('jwt').create_access_token(user))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
