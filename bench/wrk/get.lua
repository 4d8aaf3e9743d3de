wrk.method = "GET"
wrk.headers["Origin"] = "https://app.example.com"
