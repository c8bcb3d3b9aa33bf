"""Whether keg-auth accepts an API token (UserTokenMixin.get_user_for_api_token).

    python api_token.py <sqlalchemy-url> <api-token>

Prints `ok <email>` and exits 0, or prints `refused` and exits 1.
"""

import sys

import ka_app


def main(url, api_token):
    app = ka_app.make(url)
    from keg_auth_ta.model import entities as ents

    with app.app_context():
        user = ents.UserWithToken.get_user_for_api_token(api_token)
        if user is None:
            print('refused')
            return 1
        print('ok', user.email)
        return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
