"""Connection layer over pymysql: URLs, sessions, statements, migrations."""
