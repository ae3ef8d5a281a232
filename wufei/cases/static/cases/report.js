/* The report form: fill the place from the phone's location. Texts come from the button's data attributes. */
(function () {
  var button = document.getElementById("use-location");
  if (!("geolocation" in navigator) || !button) return;
  var status = document.getElementById("location-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("r-longitude").value = pos.coords.longitude.toFixed(6);
      document.getElementById("r-latitude").value = pos.coords.latitude.toFixed(6);
      status.textContent = button.dataset.filled;
    }, function () {
      status.textContent = button.dataset.unavailable;
    }, {enableHighAccuracy: true, timeout: 15000});
  });
})();
