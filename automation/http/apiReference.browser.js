// Runs in the browser on the API reference page: renders the service's OpenAPI document with
// Redoc, passing the page's style nonce so Redoc's injected styles pass the page's policy.
(function () {
    const el = document.getElementById("reference");
    // eslint-disable-next-line no-undef
    Redoc.init(el.dataset.specUrl, { nonce: el.dataset.nonce, hideDownloadButton: false, expandResponses: "200,201,202" }, el);
})();
