# A STAND-IN for mysql-connector-python (`mysql.connector`), the driver of the book's app image,
# used by test/infra/appDatabaseUser.test.ts only. Debian 12 does not package it and PyPI cannot
# be reached here, so:
#   - the connection and wire protocol are Debian's MySQLdb (libmariadb), not Connector/Python's;
#   - what differs between the two drivers for the provisioning script is copied from
#     Connector/Python's source (lib/mysql/connector/cursor.py, 8.3): `execute(stmt, params)`
#     replaces each `%s` in turn with the quoted parameter (RE_PY_PARAM = b"(%s)") and leaves
#     every other `%` as it is, so `'%%'` reaches the server as two characters (MySQLdb's
#     `stmt % params` would turn it into one); `connect()` takes `password=` (alias `passwd=`)
#     and `database=`; errors are `mysql.connector.Error` with the server's code as `errno`.
import re

import MySQLdb

RE_PY_PARAM = re.compile(r"(%s)")


class Error(Exception):
    def __init__(self, errno, msg):
        super().__init__(errno, msg)
        self.errno = errno
        self.msg = msg


class _Cursor:
    def __init__(self, conn):
        self._conn = conn
        self._cursor = conn.cursor()

    def execute(self, operation, params=None):
        if params:
            values = iter(params)

            def substitute(_match):
                value = self._conn.literal(next(values))
                return value.decode() if isinstance(value, bytes) else value

            operation = RE_PY_PARAM.sub(substitute, operation)
        try:
            # No params: MySQLdb then sends the text as it is, without its own `%` formatting.
            return self._cursor.execute(operation)
        except MySQLdb.Error as e:
            raise Error(e.args[0], e.args[1] if len(e.args) > 1 else "") from e

    def fetchall(self):
        return self._cursor.fetchall()

    def close(self):
        self._cursor.close()


class _Connection:
    def __init__(self, conn):
        self._conn = conn

    def cursor(self):
        return _Cursor(self._conn)

    def commit(self):
        self._conn.commit()

    def close(self):
        self._conn.close()


def connect(host="127.0.0.1", port=3306, user=None, password=None, passwd=None, database=None, **_options):
    try:
        kwargs = {"host": host, "port": int(port), "user": user, "password": password if password is not None else passwd}
        if database is not None:
            kwargs["database"] = database
        return _Connection(MySQLdb.connect(**kwargs))
    except MySQLdb.Error as e:
        raise Error(e.args[0], e.args[1] if len(e.args) > 1 else "") from e
