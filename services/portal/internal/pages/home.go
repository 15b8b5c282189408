package pages

import "net/http"

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	h.show(w, r, http.StatusOK, "home", "Technician Commitment", nil, nil)
}
