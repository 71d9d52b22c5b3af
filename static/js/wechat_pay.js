// WeChat Pay inside WeChat's browser: hand the signed prepay parameters to the JS bridge. The order
// becomes paid only when WeChat Pay's signed notification reaches the server; this page just returns
// the member to the order, which shows the result.
(function () {
  var box = document.getElementById("wechat-pay");
  var params = JSON.parse(document.getElementById("wechat-pay-params").textContent);
  var status = document.getElementById("wechat-pay-status");

  function pay() {
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (result) {
      if (result && result.err_msg === "get_brand_wcpay_request:ok") {
        window.location.href = box.getAttribute("data-order-url");
      } else {
        status.hidden = false;
      }
    });
  }

  function whenReady() {
    if (window.WeixinJSBridge) {
      pay();
    } else {
      document.addEventListener("WeixinJSBridgeReady", pay, false);
    }
  }

  document.getElementById("wechat-pay-again").addEventListener("click", whenReady);
  whenReady();
})();
