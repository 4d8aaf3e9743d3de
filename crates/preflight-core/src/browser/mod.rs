//! The browser side of CORS: the Fetch algorithm a browser runs. (Being written.)
