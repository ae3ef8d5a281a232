/* Manifest verification: read the manifest's QR code with the camera. Texts and the page address come from
   the scan button's data attributes (no inline script: CSP). */
(function () {
  var start = document.getElementById("scan-start");
  if (!start || !("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var area = document.getElementById("scan-area"), video = document.getElementById("scan-video");
  var status = document.getElementById("scan-status"), verifyBase = start.dataset.verifyBase;
  var stream = null, timer = null;
  start.hidden = false;
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    area.hidden = true;
  }
  function found(text) {
    stop();
    try {
      var url = new URL(text, window.location.href);
      if (url.pathname.indexOf(verifyBase) === 0) {
        window.location.href = url.pathname.replace(/^\/+/, "/") + url.search; return;
      }
    } catch (e) {}
    var digits = text.replace(/\D/g, "");
    if (digits.length === 14) { window.location.href = verifyBase + digits + "/"; return; }
    status.textContent = start.dataset.notManifest;
  }
  document.getElementById("scan-stop").addEventListener("click", stop);
  start.addEventListener("click", function () {
    var detector = new BarcodeDetector({formats: ["qr_code"]});
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}).then(function (s) {
      stream = s; video.srcObject = s; area.hidden = false; video.play();
      status.textContent = start.dataset.point;
      timer = setInterval(function () {
        detector.detect(video).then(function (codes) { if (codes.length) found(codes[0].rawValue); }).catch(function () {});
      }, 300);
    }).catch(function () {
      status.textContent = start.dataset.noCamera;
    });
  });
})();
