#pragma once
// The upload and media routes: POST /api/v1/uploads, GET (and HEAD) /media/{id} and
// /media/{id}/thumbnail, PUT and DELETE /api/v1/me/avatar (upload_routes.cpp).

#include "api/routes.hpp"

namespace parley::api {

/// Adds them (called by add_routes when `with.uploads` is set). `with` must outlive the router.
void add_upload_routes(http::router& routes, const dependencies& with);

} // namespace parley::api
